"""Moved to packer.content.document: the model builders read each file through the same CI view
that validation judges. Kept so code written against the old place still imports."""
from packer.content.document import CiDocument, KeyTree, ci_document, ci_view, field_name, key_tree  # noqa: F401
