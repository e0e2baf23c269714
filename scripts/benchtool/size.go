package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads 536870912, 512M, 1G, 64K: a positive multiple of 512.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, err
	case n <= 0 || n > (1<<62)/mult:
		return 0, fmt.Errorf("size %s out of range", s)
	case n*mult%512 != 0:
		return 0, fmt.Errorf("%d bytes is not a multiple of 512", n*mult)
	}
	return n * mult, nil
}
