"""Paper-tier inputs (datasets, prompt files, weights): the source table, the checked downloader behind
``uasbench fetch`` and the preflight that names every missing input at once."""
