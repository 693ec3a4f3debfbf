"""Execution recovery: redrive, restart, stop and mark resolved, one saga or a thousand.

`models` keeps one `SagaAction` per action taken on a saga (its preview, ticket, who, the
AWS answer and the verified outcome); `eligibility` says from the read model what can be
done to a saga and why not; `actions` does it exactly once; `bulk` turns a saga list filter
into a dry run and a job; `verify` decides when an action is done (its saga reached a
terminal state)."""
