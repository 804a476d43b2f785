"""Historical archive: cryo-compatible Parquet datasets, their catalog, queries and retention."""
