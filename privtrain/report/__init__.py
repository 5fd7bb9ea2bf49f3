"""HTML reports: self-contained files (plots embedded as PNG data URIs), written atomically."""

from privtrain.report._budget import budget_report_data, budget_report_html

__all__ = ["budget_report_data", "budget_report_html"]
