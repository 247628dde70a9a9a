"""The compact side-pane view: follows a run by tailing its event log; never runs agents."""
