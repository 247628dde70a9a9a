"""The engine: one thread that runs the pipeline, the implement loop and the stage machinery."""
