"""Pages people read: the run report, capacity and comparison as self-contained HTML with plotly."""
