"""Chart geometry for templates of any app: an app's view passes its rows, the template
asks for the geometry (an app may not import the web interface; a template may load it)."""

from __future__ import annotations

from django import template

from partnerhub.web.charts import ColumnChart, column_chart

register = template.Library()


@register.simple_tag(name="column_chart")
def column_chart_tag(groups: list[tuple[str, list[tuple[int, str]]]], series: str) -> ColumnChart:
    """{% column_chart groups "Gross billed|Reseller share" as chart %}"""
    return column_chart(groups, series.split("|"))
