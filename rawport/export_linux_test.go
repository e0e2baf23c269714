package rawport

// MaxBatch is maxBatch, for the tests of the batching.
const MaxBatch = maxBatch
