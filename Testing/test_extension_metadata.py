"""Static checks of what the Slicer Extensions Index reads: the extension metadata in CMakeLists.txt and the licences.

- no placeholder left in the metadata (example hosts, TODO, a generic 'contributors' name);
- one project home: every URL into the repository names the same GitHub repository, and the file it names exists;
- the icon is a 128 x 128 PNG, the screenshots are raw image URLs of PNGs in the repository (at least one);
- the licences agree everywhere: the code is Apache-2.0 (LICENSE.txt), the model weights GPL-3.0 (derived from their
  training data), stated in pyproject.toml, every model entry of models/manifest.json, the model card, CMakeLists.txt
  and the README (the homepage must name the licence).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE_LICENCE = "Apache-2.0"
WEIGHTS_LICENCE = "GPL-3.0"
LICENCE_FILE = "LICENSE.txt"  # the name the Extensions Index checklist asks for
WEIGHTS_LICENCE_FILE = "models/LICENSE-weights-GPL-3.0.md"
PLACEHOLDER_PATTERNS = (
    r"example\.(com|org|net)",
    r"\bexample\b",
    r"\bTODO\b",
    r"\bFIXME\b",
    r"\bXXX\b",
    r"your[ -]?name",
    r"firstname",
    r"lastname",
    r"\bcontributors\b",
    r"<[^>]*>",
    r"\bplaceholder\b",
    r"\blorem\b",
)
URL_KEYS = ("EXTENSION_HOMEPAGE", "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS")
ICON_SIZE = (128, 128)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def extension_metadata(root: Path = REPO) -> dict[str, str]:
    text = (root / "CMakeLists.txt").read_text(encoding="utf-8")
    return dict(re.findall(r'set\((EXTENSION_\w+)\s+"([^"]*)"\)', text))


def metadata_urls(meta: dict[str, str]) -> list[str]:
    return [u for key in URL_KEYS for u in meta.get(key, "").split()]


def placeholders(value: str) -> list[str]:
    """The placeholder patterns found in one metadata value (case-insensitive)."""
    return [p for p in PLACEHOLDER_PATTERNS if re.search(p, value, flags=re.IGNORECASE)]


def repository_path(url: str) -> tuple[str, str]:
    """('owner/name', path inside the repository or '') of a GitHub or raw.githubusercontent URL."""
    u = urlparse(url)
    parts = [p for p in u.path.split("/") if p]
    if u.netloc == "raw.githubusercontent.com" and len(parts) >= 4:  # owner/name/branch/path...
        return "/".join(parts[:2]), "/".join(parts[3:])
    if u.netloc == "github.com" and len(parts) >= 2:
        rest = parts[4:] if len(parts) >= 4 and parts[2] in ("blob", "tree", "raw") else []
        return "/".join(parts[:2]), "/".join(rest)
    raise AssertionError(f"{url} does not point into a GitHub repository")


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def pyproject_licence(root: Path = REPO) -> str:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"\s*\}', text, flags=re.MULTILINE)
    assert match, "pyproject.toml has no license = { text = ... } field"
    return match.group(1)


def markdown_section(text: str, title: str) -> str:
    """The body of the '## title' section of a markdown text ('' when absent)."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def test_no_placeholder_in_extension_metadata():
    meta = extension_metadata()
    for key in (
        "EXTENSION_HOMEPAGE",
        "EXTENSION_CONTRIBUTORS",
        "EXTENSION_DESCRIPTION",
        "EXTENSION_ICONURL",
        "EXTENSION_SCREENSHOTURLS",
        "EXTENSION_CATEGORY",
    ):
        assert meta.get(key, "").strip(), f"{key} is missing or empty"
        found = placeholders(meta[key])
        assert not found, f"{key} still holds a placeholder ({found}): {meta[key]!r}"


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/example/SlicerX#readme",
        "Lumbar Spine MRI contributors",
        "TODO: describe",
        "https://example.com/x.png",
        "Firstname Lastname (<affiliation>)",
    ],
)
def test_placeholder_patterns_catch_what_was_there(value):
    assert placeholders(value), f"{value!r} should count as a placeholder"


def test_contributors_name_an_affiliation():
    # the index lists "Name (Affiliation)" for every contributor, comma-separated
    for person in extension_metadata()["EXTENSION_CONTRIBUTORS"].split(","):
        assert re.fullmatch(r"\s*[^()]+\([^()]+\)\s*", person), f"no '(affiliation)' in contributor {person!r}"


def test_description_is_one_or_two_sentences():
    description = extension_metadata()["EXTENSION_DESCRIPTION"]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", description.strip()) if s]
    assert 1 <= len(sentences) <= 2, f"the description has {len(sentences)} sentences; the index asks for 1-2"


def test_one_project_home_and_every_url_names_a_file_that_exists():
    meta = extension_metadata()
    urls = metadata_urls(meta)
    homes = {repository_path(u)[0] for u in urls}
    assert len(homes) == 1, f"the metadata points at several repositories: {sorted(homes)}"
    for url in urls:
        _, path = repository_path(url)
        if path:
            assert (REPO / path).is_file(), f"{url} names {path}, which is not in the repository"
    home = homes.pop()
    contributing = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert f"github.com/{home}" in contributing, "CONTRIBUTING.md does not name the project home of the metadata"


def test_icon_is_a_128_pixel_png_and_screenshots_are_raw_pngs():
    meta = extension_metadata()
    _, icon = repository_path(meta["EXTENSION_ICONURL"])
    assert urlparse(meta["EXTENSION_ICONURL"]).netloc == "raw.githubusercontent.com"
    assert png_size(REPO / icon) == ICON_SIZE
    shots = meta["EXTENSION_SCREENSHOTURLS"].split()
    assert shots, "the index needs at least one screenshot"
    for url in shots:
        assert urlparse(url).netloc == "raw.githubusercontent.com", f"{url} is not a raw image URL"
        _, path = repository_path(url)
        width, height = png_size(REPO / path)
        assert width >= 300 and height >= 300, f"{path} is too small to be a screenshot ({width} x {height})"


def test_code_licence_file_at_the_root():
    text = (REPO / LICENCE_FILE).read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text  # the whole text, not a stub


def test_weights_licence_text_ships_with_the_weights():
    text = (REPO / WEIGHTS_LICENCE_FILE).read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_pyproject_licence_is_the_code_licence():
    assert pyproject_licence() == CODE_LICENCE


def test_every_manifest_entry_states_the_weights_licence():
    manifest = json.loads((REPO / "models" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["models"]
    for entry in manifest["models"]:
        licence = entry.get("licence", "")
        assert licence.startswith(WEIGHTS_LICENCE), f"{entry['name']}: licence {licence!r}"
        assert CODE_LICENCE in licence, f"{entry['name']}: the licence field does not say the code's licence differs"


@pytest.mark.parametrize("where", ["models/MODEL_CARD.md", "CMakeLists.txt", "README.md"])
def test_both_licences_stated(where):
    text = (REPO / where).read_text(encoding="utf-8")
    if where.endswith("MODEL_CARD.md"):
        text = markdown_section(text, "Licence")
        assert text, "the model card has no '## Licence' section"
    assert CODE_LICENCE in text, f"{where} does not state the code licence ({CODE_LICENCE})"
    assert WEIGHTS_LICENCE in text, f"{where} does not state the weights licence ({WEIGHTS_LICENCE})"


DOCUMENTS = (
    "README.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    "models/MODEL_CARD.md",
    "docs/measurements.md",
    "docs/architecture.md",
)


def relative_links(markdown: str) -> list[str]:
    """Targets of inline links/images and of reference definitions that point into the repository (anchors cut)."""
    inline = re.findall(r"\]\(\s*([^)\s]+)\s*\)", markdown)
    references = re.findall(r"^\[[^\]]+\]:\s*(\S+)", markdown, flags=re.MULTILINE)
    targets = inline + references
    out = []
    for t in targets:
        if re.match(r"[a-z]+:", t) or t.startswith("#"):
            continue
        out.append(t.split("#", 1)[0])
    return out


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documentation_links_name_files_in_the_repository(document):
    # the README is the extension's homepage: a link to a file that is not there is a broken page
    path = REPO / document
    links = relative_links(path.read_text(encoding="utf-8"))
    missing = [t for t in links if not (path.parent / t).exists()]
    assert not missing, f"{document} links to files that are not in the repository: {missing}"


def test_relative_links_finds_inline_and_reference_links():
    text = "see [a](docs/a.md#x), ![b](b.png) and [c] [web](https://x.org) [top](#y)\n\n[c]: figures/c.png\n"
    assert relative_links(text) == ["docs/a.md", "b.png", "figures/c.png"]
