"""TopView behind the mobile API (spec Part B): the same callers, entitlement, limits, job store and
`/get-status` as the Pixverse endpoints; one Step Functions flow per job, resumed by TopView's
callbacks and by polling when they do not come."""
