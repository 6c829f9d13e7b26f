"""Font discovery for the synthetic corpus.

Fonts come from two places, both installed by pip alone:

* matplotlib's data dir (always there): DejaVu Sans/Serif/Mono with bold and oblique, STIX
  (a Times-like serif) and cmtt10 (a typewriter face). The other Computer Modern faces are left
  out: matplotlib's BaKoMa builds map ASCII punctuation ({, <, _, $) to other glyphs.
* optional ``fontpkg-*`` packages (Google Fonts repackaged, e.g. ``fontpkg-caveat``): handwriting
  (Caveat, Indie Flower, Kalam, Shadows Into Light), a signature script (Dancing Script), more
  text faces (Arimo, PT Serif, Libre Baskerville, IBM Plex Mono) and display faces for headlines
  (Oswald, Playfair Display, Lobster). Each one that is absent is skipped; a role with no optional
  font falls back to DejaVu (handwriting then gets DejaVu Sans Oblique with per-word jitter).

Fonts are chosen by *role* (serif, sans, mono, hand, script, display) and style; the family list
per role is fixed and sorted, so the same installed fonts give the same pages.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from PIL import ImageFont

STYLES = ("regular", "bold", "italic", "bolditalic")


@dataclass(frozen=True)
class Face:
    """One style of one family: a file, plus a weight for variable fonts (None = file default)."""
    path: str
    weight: Optional[int] = None


@dataclass
class Family:
    name: str
    role: str
    styles: dict = field(default_factory=dict)  # style -> Face
    source: str = "matplotlib"

    def face(self, style: str) -> Face:
        if style in self.styles:
            return self.styles[style]
        if style == "bolditalic":
            for alt in ("bold", "italic"):
                if alt in self.styles:
                    return self.styles[alt]
        return self.styles["regular"]


def _mpl_dir() -> Optional[str]:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a hard dependency of docexit
        return None
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    return path if os.path.isdir(path) else None


def _pkg_files(module: str) -> Optional[str]:
    """The files/ dir of an installed fontpkg-* package, found without importing fontpkg itself."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        files = os.path.join(loc, "files")
        if os.path.isdir(files):
            return files
    return None


# (module, family, role, {style: (filename, weight)})
_OPTIONAL = (
    ("fontpkg_caveat", "Caveat", "hand", {"regular": ("Caveat[wght].ttf", None), "bold": ("Caveat[wght].ttf", 650)}),
    ("fontpkg_indie_flower", "Indie Flower", "hand", {"regular": ("IndieFlower-Regular.ttf", None)}),
    ("fontpkg_kalam", "Kalam", "hand", {"regular": ("Kalam-Regular.ttf", None), "bold": ("Kalam-Bold.ttf", None)}),
    ("fontpkg_shadows_into_light", "Shadows Into Light", "hand", {"regular": ("ShadowsIntoLight.ttf", None)}),
    ("fontpkg_dancing_script", "Dancing Script", "script", {"regular": ("DancingScript[wght].ttf", None),
                                                             "bold": ("DancingScript[wght].ttf", 700)}),
    ("fontpkg_arimo", "Arimo", "sans", {"regular": ("Arimo[wght].ttf", None), "bold": ("Arimo[wght].ttf", 700),
                                        "italic": ("Arimo-Italic[wght].ttf", None),
                                        "bolditalic": ("Arimo-Italic[wght].ttf", 700)}),
    ("fontpkg_pt_serif", "PT Serif", "serif", {"regular": ("PT_Serif-Web-Regular.ttf", None),
                                               "bold": ("PT_Serif-Web-Bold.ttf", None),
                                               "italic": ("PT_Serif-Web-Italic.ttf", None),
                                               "bolditalic": ("PT_Serif-Web-BoldItalic.ttf", None)}),
    ("fontpkg_libre_baskerville", "Libre Baskerville", "serif", {
        "regular": ("LibreBaskerville[wght].ttf", None), "bold": ("LibreBaskerville[wght].ttf", 700),
        "italic": ("LibreBaskerville-Italic[wght].ttf", None)}),
    ("fontpkg_ibm_plex_mono", "IBM Plex Mono", "mono", {"regular": ("IBMPlexMono-Regular.ttf", None),
                                                        "bold": ("IBMPlexMono-Bold.ttf", None),
                                                        "italic": ("IBMPlexMono-Italic.ttf", None)}),
    ("fontpkg_oswald", "Oswald", "display", {"regular": ("Oswald[wght].ttf", None), "bold": ("Oswald[wght].ttf", 700)}),
    ("fontpkg_playfair_display", "Playfair Display", "display", {
        "regular": ("PlayfairDisplay[wght].ttf", None), "bold": ("PlayfairDisplay[wght].ttf", 800),
        "italic": ("PlayfairDisplay-Italic[wght].ttf", None)}),
    ("fontpkg_lobster", "Lobster", "display", {"regular": ("Lobster-Regular.ttf", None)}),
)

#: the PyPI packages that add fonts (all optional); see docs/corpus.md
OPTIONAL_FONT_PACKAGES = tuple(m.replace("_", "-") for m, *_ in _OPTIONAL)


@lru_cache(maxsize=1)
def families() -> dict[str, list[Family]]:
    """role -> families available here, in a fixed order (matplotlib ones first)."""
    roles: dict[str, list[Family]] = {r: [] for r in ("serif", "sans", "mono", "hand", "script", "display")}
    mpl = _mpl_dir()
    if mpl is None:  # pragma: no cover
        raise RuntimeError("matplotlib's fonts are needed by docexit.synth (pip install matplotlib)")

    def m(name: str) -> Face:
        return Face(os.path.join(mpl, name))

    dejavu_sans = Family("DejaVu Sans", "sans", {"regular": m("DejaVuSans.ttf"), "bold": m("DejaVuSans-Bold.ttf"),
                                                 "italic": m("DejaVuSans-Oblique.ttf"),
                                                 "bolditalic": m("DejaVuSans-BoldOblique.ttf")})
    dejavu_serif = Family("DejaVu Serif", "serif", {"regular": m("DejaVuSerif.ttf"), "bold": m("DejaVuSerif-Bold.ttf"),
                                                    "italic": m("DejaVuSerif-Italic.ttf"),
                                                    "bolditalic": m("DejaVuSerif-BoldItalic.ttf")})
    stix = Family("STIX", "serif", {"regular": m("STIXGeneral.ttf"), "bold": m("STIXGeneralBol.ttf"),
                                    "italic": m("STIXGeneralItalic.ttf"), "bolditalic": m("STIXGeneralBolIta.ttf")})
    dejavu_mono = Family("DejaVu Sans Mono", "mono", {"regular": m("DejaVuSansMono.ttf"),
                                                      "bold": m("DejaVuSansMono-Bold.ttf"),
                                                      "italic": m("DejaVuSansMono-Oblique.ttf")})
    cmtt = Family("CM Typewriter", "mono", {"regular": m("cmtt10.ttf")})
    roles["sans"].append(dejavu_sans)
    roles["serif"] += [stix, dejavu_serif]
    roles["mono"] += [cmtt, dejavu_mono]
    for module, name, role, styles in _OPTIONAL:
        files = _pkg_files(module)
        if files is None:
            continue
        faces = {}
        for style, (fname, weight) in styles.items():
            path = os.path.join(files, fname)
            if os.path.isfile(path):
                faces[style] = Face(path, weight)
        if "regular" in faces:
            roles[role].append(Family(name, role, faces, source=module.replace("_", "-")))
    # fallbacks for roles with no optional font
    if not roles["hand"]:
        roles["hand"].append(Family("DejaVu Sans Oblique (fallback)", "hand",
                                    {"regular": m("DejaVuSans-Oblique.ttf"), "bold": m("DejaVuSans-BoldOblique.ttf")}))
    if not roles["script"]:
        roles["script"].append(Family("DejaVu Serif Italic (fallback)", "script",
                                      {"regular": m("DejaVuSerif-Italic.ttf"), "bold": m("DejaVuSerif-BoldItalic.ttf")}))
    roles["display"] += [Family("DejaVu Sans Bold", "display", {"regular": m("DejaVuSans-Bold.ttf")}),
                         Family("STIX Bold", "display", {"regular": m("STIXGeneralBol.ttf")})]
    return roles


def has_real_handwriting() -> bool:
    return any(f.source != "matplotlib" for f in families()["hand"])


def font_inventory() -> list[str]:
    """Names of every family in use, for the manifest (pages depend on which fonts were installed)."""
    return [f"{role}:{fam.name}" for role, fams in families().items() for fam in fams]


@lru_cache(maxsize=2048)
def load(face: Face, size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(face.path, size)
    if face.weight is not None:
        try:
            font.set_variation_by_axes([face.weight])
        except (OSError, ValueError, AttributeError):  # FreeType without variation support: default weight
            pass
    return font
