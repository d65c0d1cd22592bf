// Package cost turns a job's instance type, instance count and billable
// seconds into money: cost_usd, estimated while the job runs and final
// once it has ended, with where the price came from and of when. Prices
// come from the AWS Price List API (pricing:GetProducts, cached in the
// store) when it is reachable, else from a pinned table shipped with the
// binary (prices.json, see docs/cost.md). Local jobs cost no money: they
// show the trainer's CPU-seconds instead.
package cost
