"""The Textual app: pipeline board, task DAG pane, agent log panes, keyboard approvals.

Textual lives only here; the engine reaches the app through `EngineSink`, which posts
each event as a message (docs/architecture.md).
"""
