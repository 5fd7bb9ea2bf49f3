"""Keep the detection stack off the network.

Imported first by :mod:`privtrain.deid`, before anything imports ``tldextract`` (through
presidio's e-mail recognizer): an empty ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` makes tldextract's
module-level extractor use its bundled suffix-list snapshot instead of fetching the list.
privtrain's own e-mail recognizer does not rely on that: it uses :func:`offline_tld_extractor`,
built with no URLs and no disk cache.
"""

from __future__ import annotations

import functools
import os

_ENV = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"

if not os.environ.get(_ENV, "").strip():
    os.environ[_ENV] = ""


@functools.cache
def offline_tld_extractor():  # -> tldextract.TLDExtract
    """A tldextract extractor that only ever reads its bundled public-suffix snapshot."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
