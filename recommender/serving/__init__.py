"""HTTP serving: FastAPI app, FAISS retrieval over a loaded bundle."""
