"""Parts of the DiscSegmenter panel kept out of DiscSegmenter.py so the module file stays thin."""
