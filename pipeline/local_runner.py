"""The local runner: Beam's Python FnApiRunner, without the Prism detour.

In Beam 2.77 ``--runner=DirectRunner`` is ``SwitchingDirectRunner``: it first tries the Go-based
PrismRunner, which downloads a runner binary from GitHub on first use. Offline that download fails
after a timeout and only then falls back to the Python runner. ``LocalRunner`` does what the
switching runner does after that fallback: the FnApiRunner (batch, supports
``--direct_num_workers N --direct_running_mode multi_processing|multi_threading``) with the
pipeline options in its provision info, or the BundleBasedDirectRunner for the rare pipeline the
FnApiRunner cannot run. ``--runner=FnApiRunner`` / ``--runner=BundleBasedDirectRunner`` also work.
"""
from __future__ import annotations

import logging

from apache_beam.runners.runner import PipelineRunner

_LOGGER = logging.getLogger(__name__)

# What --runner values mean "run it here" (compared case-insensitively); None/"" too.
LOCAL_RUNNER_NAMES = {"direct", "directrunner", "switchingdirectrunner", "local", "localrunner"}


def is_local_runner_name(name) -> bool:
    return name is None or (isinstance(name, str) and name.strip().lower() in LOCAL_RUNNER_NAMES | {""})


class LocalRunner(PipelineRunner):
    """SwitchingDirectRunner minus the PrismRunner attempt (so no binary download, no network)."""

    def run_pipeline(self, pipeline, options):
        from apache_beam.options.pipeline_options import StandardOptions
        from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
        from apache_beam.runners.portability.fn_api_runner import fn_runner

        if options.view_as(StandardOptions).streaming:
            _LOGGER.info("streaming pipeline: using BundleBasedDirectRunner")
            return BundleBasedDirectRunner().run_pipeline(pipeline, options)
        if not _fnapi_supported(pipeline):
            _LOGGER.info("pipeline needs BundleBasedDirectRunner")
            return BundleBasedDirectRunner().run_pipeline(pipeline, options)
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        all_options = options.get_all_options()
        try:  # our own flags mean nothing to SDK workers (they only log "Discarding unparseable args")
            from pipeline.options import docexit_option_names

            ours = docexit_option_names()
            all_options = {k: v for k, v in all_options.items() if k not in ours}
        except ImportError:
            pass
        encoded = JobServiceHandle.encode_pipeline_options(all_options)
        provision_info = fn_runner.ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return fn_runner.FnApiRunner(provision_info=provision_info).run_pipeline(pipeline, options)


def _fnapi_supported(pipeline) -> bool:
    """The same checks SwitchingDirectRunner makes before choosing the FnApiRunner."""
    import itertools

    import apache_beam as beam
    from apache_beam.pipeline import PipelineVisitor
    from apache_beam.internal.util import ArgumentPlaceholder
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms import userstate
    from apache_beam.transforms.core import CombineValuesDoFn
    from apache_beam.transforms.timeutil import TimeDomain

    class _Visitor(PipelineVisitor):
        ok = True

        def visit_transform(self, applied):
            transform = applied.transform
            if isinstance(transform, TestStream):
                self.ok = False
            if isinstance(transform, beam.ParDo):
                dofn = transform.dofn
                if isinstance(dofn, CombineValuesDoFn):
                    args, kwargs = transform.raw_side_inputs
                    if any(isinstance(a, ArgumentPlaceholder) for a in itertools.chain(args, kwargs.values())):
                        self.ok = False
                if userstate.is_stateful_dofn(dofn):
                    _, timer_specs = userstate.get_dofn_specs(dofn)
                    if any(t.time_domain == TimeDomain.REAL_TIME for t in timer_specs):
                        self.ok = False

    visitor = _Visitor()
    pipeline.visit(visitor)
    return visitor.ok
