package server

import "testing"

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Size: 1 << 20}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.BlockSize != 512 || o.Workers != DefaultWorkers {
		t.Errorf("defaults: block size %d, workers %d", o.BlockSize, o.Workers)
	}
	bad := []Options{
		{},
		{Size: -512},
		{Size: 1000},
		{Size: 4096, BlockSize: 1024 + 512},
		{Size: 4096, BlockSize: 256},
		{Size: 8192, BlockSize: 8192},
		{Size: 4096, BlockSize: 4096 * 2},
		{Size: 4096 * 3, BlockSize: 4096, Workers: -1},
		{Size: 4096 + 512, BlockSize: 4096},
	}
	for _, o := range bad {
		if _, err := o.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := (Options{Size: 8192, BlockSize: 4096}).WithDefaults(); err != nil {
		t.Errorf("4096-byte blocks: %v", err)
	}
}

func TestTransmissionFlags(t *testing.T) {
	tests := []struct {
		o         Options
		multiConn bool
		want      uint64
	}{
		{Options{}, false, 1 | 4},
		{Options{FUA: true}, false, 1 | 4 | 8},
		{Options{ReadOnly: true}, false, 1 | 2 | 4},
		{Options{FUA: true, ReadOnly: true}, true, 1 | 2 | 4 | 8 | 256},
		// A target that cannot flush: no SEND_FLUSH, and no FUA either.
		{Options{WriteThrough: true, FUA: true}, false, 1},
	}
	for _, tt := range tests {
		if got := tt.o.TransmissionFlags(tt.multiConn); got != tt.want {
			t.Errorf("%+v, multi-conn %v: flags %#x, want %#x", tt.o, tt.multiConn, got, tt.want)
		}
	}
}
