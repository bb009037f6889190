"""Reports: supplier performance and project status, computed by SQL, exportable."""
