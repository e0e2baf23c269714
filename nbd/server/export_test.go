package server

// Header sizes for the external tests' own encoders.
const (
	RequestSize = requestSize
	ReplySize   = replySize
)
