"""The content model: load the content tree, render Markdown, search, validate."""

from __future__ import annotations

from hub.content.library import Library
from hub.content.loader import Problem, load_library
from hub.content.model import Article, ArticleText, Service, Site, Topic, pick
from hub.content.search import SearchIndex, build_index

__all__ = [
    "Article",
    "ArticleText",
    "Library",
    "Problem",
    "SearchIndex",
    "Service",
    "Site",
    "Topic",
    "build_index",
    "load_library",
    "pick",
]
