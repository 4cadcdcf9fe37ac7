"""Views: what people and other tools read. Tables, Markdown, SARIF and text made from the
library's values (plans, fleet plans, validation reports); nothing here computes a result."""
