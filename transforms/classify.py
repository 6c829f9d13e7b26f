"""The classifier steps: Beam RunInference with our own ModelHandlers.

* ``ClassifierService`` wraps ``models.classifier.DocClassifier``: loaded once per worker process
  (a process-wide cache, and RunInference's shared handle on top), or once per machine when
  ``share_model_across_processes`` is on (then RunInference talks to it through a proxy, so the
  service only exposes methods with picklable arguments and results).
* ``ImageStageHandler``: the OCR-free exits (``classify_image_only``) for a batch of pages.
* ``MultimodalHandler``: the anytime early-exit pass (``classify``) with the image-stage prior.

RunInference's own error handling fails whole batches, so both handlers catch per page: when a
batch call raises, every page of it is retried alone, and only the pages that fail alone become
failures (the ``Outcome`` of their PredictionResult carries the error). Pages are validated
before batching (``PrepareFn``) so malformed inputs never reach a batch in the first place.

Calibration: every ``calibrate_every``-th multimodal batch is run a second time at full depth,
so the report can give the *measured* model time saved by early exit next to the FLOPs saved.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from transforms.elements import DONE_TAG, ERRORS_TAG, Page, error_row, exception_row, result_row
from transforms.read import NAMESPACE

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ the model

@dataclass(frozen=True)
class ModelSpec:
    """Everything a worker needs to load the classifier (small and picklable)."""

    path: Optional[str] = None        # None: the shipped model
    device: str = "auto"
    dtype: str = "auto"
    policy: Optional[str] = None
    num_threads: int = 0              # torch intra-op threads in the worker (0: torch's default)
    factory: Optional[str] = None     # "module:function" returning a classifier (tests / plug-ins)
    warmup: bool = True

    def key(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]


def _import_string(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def localize_model_path(path: Optional[str]) -> Optional[str]:
    """A model folder on gs:// / s3:// / ... -> a local copy (downloaded once per machine)."""
    if not path or "://" not in path or path.startswith("file://"):
        return path[len("file://"):] if path and path.startswith("file://") else path
    import fsspec

    root = os.path.join(os.path.expanduser("~"), ".cache", "docexit", "models",
                        hashlib.sha1(path.encode()).hexdigest()[:16])
    done = os.path.join(root, ".complete")
    if not os.path.exists(done):
        fs, remote = fsspec.core.url_to_fs(path)
        tmp = f"{root}.tmp-{os.getpid()}"
        fs.get(remote.rstrip("/") + "/", tmp, recursive=True)
        if os.path.isdir(root):
            import shutil
            shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
        open(done, "w").close()
    return root


class ClassifierService:
    """One loaded classifier and the calls the pipeline makes on it."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        if spec.num_threads and spec.num_threads > 0:
            import torch
            torch.set_num_threads(spec.num_threads)
        if spec.factory:  # a plug-in classifier; it reads device, dtype and policy from the spec
            self.clf = _import_string(spec.factory)(spec)
        else:
            from models.classifier import DocClassifier

            self.clf = DocClassifier.from_pretrained(localize_model_path(spec.path), device=spec.device,
                                                     dtype=spec.dtype, policy=spec.policy or "default")
        if spec.warmup:
            self._warmup()

    def _warmup(self) -> None:
        """One tiny call per path, so lazy initialisation is not billed to the first real batch."""
        from PIL import Image

        img = Image.new("L", (64, 64), 255)
        try:
            if self.has_image_stage:
                self.clf.classify_image_only([img])
            self.clf.classify([img], [["warmup"]], [[[0, 0, 100, 100]]], early_exit=False)
        except Exception as exc:  # warmup is best effort
            log.warning("classifier warmup failed: %s: %s", type(exc).__name__, exc)

    @property
    def has_image_stage(self) -> bool:
        return bool(getattr(self.clf, "has_image_stage", False))

    @property
    def policy_name(self) -> Optional[str]:
        return getattr(self.clf, "policy_name", None)

    def info(self) -> dict:
        device = getattr(self.clf, "device", None)
        return {
            "model_version": str(getattr(self.clf, "model_version", "unknown")),
            "max_words": getattr(self.clf, "max_words", None),
            "has_image_stage": self.has_image_stage,
            "policy_name": self.policy_name,
            "device": str(device) if device is not None else None,
        }

    def image_stage(self, images: Sequence[Any]) -> list:
        return list(self.clf.classify_image_only(list(images)))

    def classify(self, images, words, boxes, prior=None, early_exit: bool = True) -> list:
        return list(self.clf.classify(list(images), list(words), list(boxes), prior=prior, early_exit=early_exit))


_SERVICES: dict[str, ClassifierService] = {}
_SERVICES_LOCK = threading.Lock()


def load_service(spec: ModelSpec) -> ClassifierService:
    """The process-wide ClassifierService for ``spec`` (both RunInference steps get the same one)."""
    key = spec.key()
    with _SERVICES_LOCK:
        service = _SERVICES.get(key)
        if service is None:
            t0 = time.perf_counter()
            service = ClassifierService(spec)
            _SERVICES[key] = service
            log.info("docexit: classifier %s loaded in %.1fs (pid %d)", service.info()["model_version"],
                     time.perf_counter() - t0, os.getpid())
        return service


# ----------------------------------------------------------------------------------- outcomes

class Outcome:
    """What a handler says about one page (the ``inference`` of its PredictionResult)."""

    __slots__ = ("pred", "error", "ms", "full_ms", "info", "skipped", "batch_error")

    def __init__(self, pred=None, error: Optional[tuple[str, str]] = None, ms: Optional[float] = None,
                 full_ms: Optional[float] = None, info: Optional[dict] = None, skipped: bool = False,
                 batch_error: Optional[str] = None):
        self.pred = pred
        self.error = error            # (error_type, message) when this page failed on its own
        self.ms = ms                  # wall share of the batch call
        self.full_ms = full_ms        # measured full-depth model time (calibration batches)
        self.info = info or {}
        self.skipped = skipped        # image stage not available for this model
        self.batch_error = batch_error  # the batch failed and this page was retried alone

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for k in self.__slots__:
            setattr(self, k, state.get(k))


def _failure(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, f"{type(exc).__name__}: {exc}"[:2000]


def _run_per_page(call, pages: list, batch_exc: BaseException, info: dict) -> list[Outcome]:
    """The batch call failed: retry each page alone; only pages that fail alone become failures."""
    outcomes = []
    batch_msg = f"{type(batch_exc).__name__}: {batch_exc}"[:300]
    for page in pages:
        t0 = time.perf_counter()
        try:
            preds = call([page])
            if len(preds) != 1:
                raise RuntimeError(f"classifier returned {len(preds)} predictions for 1 page")
            outcomes.append(Outcome(pred=preds[0], ms=(time.perf_counter() - t0) * 1000.0, info=info,
                                    batch_error=batch_msg))
        except Exception as exc:
            outcomes.append(Outcome(error=_failure(exc), info=info, batch_error=batch_msg))
    return outcomes


def _run_batch(call, pages: list, info: dict, counter) -> list[Outcome]:
    t0 = time.perf_counter()
    try:
        preds = call(pages)
        if len(preds) != len(pages):
            raise RuntimeError(f"classifier returned {len(preds)} predictions for {len(pages)} pages")
    except Exception as exc:
        counter.inc()
        log.warning("docexit: batch of %d failed (%s: %s); retrying page by page", len(pages),
                    type(exc).__name__, exc)
        return _run_per_page(call, pages, exc, info)
    share = (time.perf_counter() - t0) * 1000.0 / max(1, len(pages))
    return [Outcome(pred=p, ms=share, info=info) for p in preds]


class _DocModelHandler(ModelHandler):
    """Shared by both handlers: load = the process-wide service, cheap batch-size accounting."""

    def __init__(self, spec: ModelSpec, *, min_batch_size: int = 1, max_batch_size: int = 16,
                 share_across_processes: bool = False):
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size,
                         large_model=share_across_processes)
        self.spec = spec
        self._info: Optional[dict] = None

    def load_model(self) -> ClassifierService:
        return load_service(self.spec)

    def _model_info(self, model) -> dict:
        if self._info is None:
            self._info = dict(model.info())
        return self._info

    def get_num_bytes(self, batch: Sequence[Page]) -> int:
        total = 0
        for page in batch:
            image = getattr(page, "image", None)
            total += (image.width * image.height) if image is not None else 0
        return total

    def get_metrics_namespace(self) -> str:
        return f"{NAMESPACE}_{type(self).__name__}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.spec.path or 'shipped'}, device={self.spec.device})"


class ImageStageHandler(_DocModelHandler):
    """OCR-free exits: Page -> Outcome(pred with .exited True when the page is done)."""

    def __init__(self, spec: ModelSpec, **kw):
        super().__init__(spec, **kw)
        self._failed_batches = Metrics.counter(NAMESPACE, "image_stage_failed_batches")

    def run_inference(self, batch, model, inference_args=None):
        pages = list(batch)
        info = self._model_info(model)
        if not info.get("has_image_stage"):
            return [PredictionResult(p, Outcome(skipped=True, info=info)) for p in pages]

        def call(ps):
            return model.image_stage([p.image for p in ps])

        outcomes = _run_batch(call, pages, info, self._failed_batches)
        return [PredictionResult(p, o) for p, o in zip(pages, outcomes)]


class MultimodalHandler(_DocModelHandler):
    """The anytime early-exit pass: Page (with words, boxes, prior) -> Outcome."""

    def __init__(self, spec: ModelSpec, *, early_exit: bool = True, calibrate_every: int = 10, **kw):
        super().__init__(spec, **kw)
        self.early_exit = early_exit
        self.calibrate_every = calibrate_every
        self._batches = 0
        self._failed_batches = Metrics.counter(NAMESPACE, "classify_failed_batches")

    def run_inference(self, batch, model, inference_args=None):
        pages = list(batch)
        info = self._model_info(model)
        early_exit = self.early_exit

        def call(ps):
            priors = [p.prior for p in ps]
            return model.classify([p.image for p in ps], [p.words or [] for p in ps],
                                  [p.boxes or [] for p in ps],
                                  prior=priors if any(x is not None for x in priors) else None,
                                  early_exit=early_exit)

        outcomes = _run_batch(call, pages, info, self._failed_batches)
        if not early_exit:
            for o in outcomes:
                if o.pred is not None:
                    o.full_ms = float(o.pred.model_ms)
        elif self.calibrate_every and self._batches % self.calibrate_every == 0:
            self._calibrate(model, pages, outcomes)
        self._batches += 1
        return [PredictionResult(p, o) for p, o in zip(pages, outcomes)]

    @staticmethod
    def _calibrate(model, pages, outcomes) -> None:
        """Run the pages that succeeded again at full depth; record each page's measured time."""
        ok = [i for i, o in enumerate(outcomes) if o.pred is not None]
        if not ok:
            return
        try:
            full = model.classify([pages[i].image for i in ok], [pages[i].words or [] for i in ok],
                                  [pages[i].boxes or [] for i in ok], prior=None, early_exit=False)
        except Exception as exc:  # calibration is optional
            log.warning("docexit: full-depth calibration batch failed: %s", exc)
            return
        if len(full) != len(ok):
            return
        for i, pred in zip(ok, full):
            outcomes[i].full_ms = float(pred.model_ms)


# ------------------------------------------------------------------------------- per-page steps

class PrepareFn(beam.DoFn):
    """Validate and normalise a page before it is batched; a bad page becomes an error row here."""

    def __init__(self, stage: str = "prepare", need_words: bool = True):
        self.stage = stage
        self.need_words = need_words
        self.errors = Metrics.counter(NAMESPACE, "prepare_errors")

    def process(self, page):
        try:
            image = page.image
            if image is None or not hasattr(image, "size"):
                raise ValueError("page has no image")
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ValueError(f"empty image {width}x{height}")
            if image.mode != "L":
                page.image = image.convert("L")
            if self.need_words:
                words, boxes = page.words or [], page.boxes or []
                if len(words) != len(boxes):
                    raise ValueError(f"{len(words)} words but {len(boxes)} boxes")
                clean_w, clean_b = [], []
                for w, b in zip(words, boxes):
                    if b is None or len(b) != 4:
                        raise ValueError(f"box for word {w!r} is not [x0, y0, x1, y1]: {b!r}")
                    x0, y0, x1, y1 = (min(1000, max(0, int(round(float(v))))) for v in b)
                    text = "" if w is None else str(w)
                    clean_w.append(text)
                    clean_b.append([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)])
                page.words, page.boxes = clean_w, clean_b
        except Exception as exc:
            self.errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, exception_row(page, self.stage, exc, "invalid_page"))
            return
        yield page


class RouteImageStageFn(beam.DoFn):
    """Image-stage outcomes: confident pages -> result rows (``done``); the rest -> OCR (main)."""

    def __init__(self):
        self.exited = Metrics.counter(NAMESPACE, "image_stage_exits")
        self.passed = Metrics.counter(NAMESPACE, "image_stage_passed")

    def process(self, result):
        page: Page = result.example
        outcome: Outcome = result.inference
        if outcome.skipped:
            page.add_note("model has no OCR-free stage")
            self.passed.inc()
            yield page
            return
        if outcome.error is not None:
            # the image stage is an optimisation: a page it cannot handle still gets OCR + full pass
            page.add_note(f"image stage failed ({outcome.error[1][:200]}); sent to OCR")
            self.passed.inc()
            yield page
            return
        page.image_stage_ms = outcome.ms
        pred = outcome.pred
        if getattr(pred, "exited", True):
            self.exited.inc()
            info = outcome.info
            yield beam.pvalue.TaggedOutput(DONE_TAG, result_row(
                page, pred, policy=info.get("policy_name"), model_version=info.get("model_version"),
                ocr_skipped=True, classify_ms=None))
            return
        page.prior = pred
        self.passed.inc()
        yield page


class RouteClassifiedFn(beam.DoFn):
    """Multimodal outcomes -> result rows (main) or error rows (stage ``classify``)."""

    def __init__(self):
        self.classified = Metrics.counter(NAMESPACE, "pages_classified")
        self.errors = Metrics.counter(NAMESPACE, "classify_errors")

    def process(self, result):
        page: Page = result.example
        outcome: Outcome = result.inference
        if outcome.error is not None or outcome.pred is None:
            self.errors.inc()
            error_type, message = outcome.error or ("NoPrediction", "classifier returned nothing")
            if outcome.batch_error:
                message += f" (its batch failed first: {outcome.batch_error})"
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, error_row(
                page.doc_id, page.uri, page.page, "classify", error_type, message))
            return
        info = outcome.info
        if outcome.batch_error:
            page.add_note("classified alone after its batch failed")
        self.classified.inc()
        yield result_row(page, outcome.pred, policy=info.get("policy_name"),
                         model_version=info.get("model_version"), ocr_skipped=False,
                         full_model_ms=outcome.full_ms, classify_ms=outcome.ms)


def model_identifier(spec: ModelSpec) -> str:
    return f"docexit-classifier-{spec.key()}"


class ImageStage(beam.PTransform):
    """Pages -> (pages needing OCR [main], result rows of pages that exited [done], errors)."""

    def __init__(self, spec: ModelSpec, *, batch_size: int, share_across_processes: bool = False):
        super().__init__()
        self.spec = spec
        self.batch_size = batch_size
        self.share = share_across_processes

    def expand(self, pages):
        from apache_beam.ml.inference.base import RunInference

        handler = ImageStageHandler(self.spec, min_batch_size=max(1, self.batch_size // 2),
                                    max_batch_size=self.batch_size, share_across_processes=self.share)
        prepared = pages | "Validate" >> beam.ParDo(PrepareFn("image_stage", need_words=False)).with_outputs(
            ERRORS_TAG, main="ok")
        routed = (
            prepared.ok
            | "RunInference" >> RunInference(handler, model_identifier=model_identifier(self.spec))
            | "Route" >> beam.ParDo(RouteImageStageFn()).with_outputs(DONE_TAG, main="todo")
        )
        return routed.todo, routed[DONE_TAG], prepared[ERRORS_TAG]


class ClassifyPages(beam.PTransform):
    """Pages with words -> (result rows, [error rows of the prepare step, of the classifier]),
    batched through RunInference. Errors are returned unflattened: the caller flattens all errors once."""

    def __init__(self, spec: ModelSpec, *, early_exit: bool = True, min_batch_size: int = 1,
                 max_batch_size: int = 16, calibrate_every: int = 10, share_across_processes: bool = False):
        super().__init__()
        self.spec = spec
        self.early_exit = early_exit
        self.min_batch_size = min_batch_size
        self.max_batch_size = max_batch_size
        self.calibrate_every = calibrate_every
        self.share = share_across_processes

    def expand(self, pages):
        from apache_beam.ml.inference.base import RunInference

        handler = MultimodalHandler(self.spec, early_exit=self.early_exit, calibrate_every=self.calibrate_every,
                                    min_batch_size=self.min_batch_size, max_batch_size=self.max_batch_size,
                                    share_across_processes=self.share)
        prepared = pages | "Prepare" >> beam.ParDo(PrepareFn("prepare")).with_outputs(ERRORS_TAG, main="ok")
        routed = (
            prepared.ok
            | "RunInference" >> RunInference(handler, model_identifier=model_identifier(self.spec))
            | "Route" >> beam.ParDo(RouteClassifiedFn()).with_outputs(ERRORS_TAG, main="results")
        )
        return routed.results, [prepared[ERRORS_TAG], routed[ERRORS_TAG]]
