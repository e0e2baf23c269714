package initiator

import (
	"encoding/binary"
	"testing"
)

func identifyData(words map[int]uint16, model string) []byte {
	b := make([]byte, 512)
	for w, v := range words {
		binary.LittleEndian.PutUint16(b[2*w:], v)
	}
	for i := 0; i < 40; i++ {
		c := byte(' ')
		if i < len(model) {
			c = model[i]
		}
		b[54+(i^1)] = c
	}
	return b
}

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		words   map[int]uint16
		sectors uint64
		lba48   bool
		flush   uint8
	}{
		{"vblade", map[int]uint16{83: 0x5400, 60: 0xffff, 61: 0x0fff, 100: 0x0000, 101: 0x0010, 102: 0x0001}, 1<<32 | 1<<20, true, 0xE7},
		{"lba28 only", map[int]uint16{83: 0x4000, 60: 0x1000, 61: 0x0002}, 0x21000, false, 0},
		{"flush ext", map[int]uint16{83: 0x4000 | 1<<10 | 1<<12 | 1<<13, 100: 2048}, 2048, true, 0xEA},
		{"enabled bits in word 86", map[int]uint16{86: 1<<10 | 1<<12, 100: 4096}, 4096, true, 0xE7},
		{"ext flush without lba48 falls back", map[int]uint16{83: 1<<12 | 1<<13, 60: 100}, 100, false, 0xE7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := parseIdentity(identifyData(tc.words, "Coraid EtherDrive vblade"))
			if id.Sectors != tc.sectors || id.LBA48 != tc.lba48 || id.FlushCommand != tc.flush {
				t.Fatalf("got %d sectors lba48 %v flush %#x, want %d %v %#x", id.Sectors, id.LBA48, id.FlushCommand, tc.sectors, tc.lba48, tc.flush)
			}
			if id.Model != "Coraid EtherDrive vblade" {
				t.Fatalf("model %q", id.Model)
			}
		})
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]Addr{"e1.2": {1, 2}, "0.1": {0, 1}, "e65534.254": {65534, 254}} {
		got, err := ParseAddr(in)
		if err != nil || got != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in[0] == 'e' && got.String() != in {
			t.Errorf("%v prints as %q, want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"", "e1", "e1.2.3", "e65535.0", "e1.255", "ex.y", "e-1.2"} {
		if _, err := ParseAddr(in); err == nil {
			t.Errorf("ParseAddr(%q) accepted", in)
		}
	}
}
