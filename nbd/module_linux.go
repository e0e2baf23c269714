//go:build linux

package nbd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pmorjan/kmod"
	"golang.org/x/sys/unix"
)

// modulesDir is where module trees live, per kernel release.
const modulesDir = "/lib/modules"

// deviceNodeWait bounds the wait for /dev/nbd0 after the module loads: the
// module creates its disks while loading, devtmpfs makes the nodes a moment
// later.
const deviceNodeWait = 2 * time.Second

// LoadModule makes sure the nbd driver is there: if /dev/nbd0 is missing it
// loads the nbd module (with its default of 16 devices) and waits for the
// node. When that is impossible the error says which kernel is running,
// what is missing and what to do.
func LoadModule() error { return loadModule(modulesDir) }

// loadModule is LoadModule with the module trees under modules; tests hand
// it an empty one.
func loadModule(modules string) error {
	node := filepath.Join(devDir, "nbd0")
	if _, err := os.Stat(node); err == nil {
		return nil
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Errorf("nbd: uname: %w", err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	if err := insertModule(modules, node, release); err != nil {
		return err
	}
	for deadline := time.Now().Add(deviceNodeWait); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(node); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nbd: the nbd module is loaded but %s did not appear: is devtmpfs mounted on %s?", node, devDir)
		}
	}
}

func insertModule(modules, node, release string) error {
	dir := filepath.Join(modules, release)
	dep := filepath.Join(dir, "modules.dep")
	opts := []kmod.Option{kmod.SetRootDir(modules), kmod.SetInitFunc(initModule)}
	// kmod insists on modules.alias and modules.builtin; depmod writes
	// both, but trimmed images sometimes keep only modules.dep.
	if _, err := os.Stat(filepath.Join(dir, "modules.alias")); err != nil {
		opts = append(opts, kmod.SetIgnoreAlias())
	}
	if _, err := os.Stat(filepath.Join(dir, "modules.builtin")); err != nil {
		opts = append(opts, kmod.SetIgnoreBuiltin())
	}
	k, err := kmod.New(opts...)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("nbd: %s does not exist and the nbd module cannot be loaded: "+
			"kernel %s has no %s (no modules are installed for it); "+
			"install the modules package of the running kernel, or boot a kernel with CONFIG_BLK_DEV_NBD, "+
			"then run `modprobe nbd`", node, release, dep)
	}
	if err != nil {
		return fmt.Errorf("nbd: load the nbd module for kernel %s: %w", release, err)
	}
	err = k.Load("nbd", "", 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kmod.ErrModuleNotFound):
		return fmt.Errorf("nbd: %s does not exist and kernel %s has no nbd module (not in %s): "+
			"use a kernel built with CONFIG_BLK_DEV_NBD=m or =y", node, release, dep)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("nbd: loading the nbd module for kernel %s needs CAP_SYS_MODULE: "+
			"run as root, or run `modprobe nbd` first: %w", release, err)
	}
	return fmt.Errorf("nbd: load the nbd module for kernel %s (try `modprobe nbd`): %w", release, err)
}

// initModule puts one module file into the kernel. kmod's own loader hands
// the file to finit_module as it is, which fails for the compressed modules
// most distributions ship (.ko.zst, .ko.xz, .ko.gz); the kernel decompresses
// them itself when asked with MODULE_INIT_COMPRESSED_FILE.
func initModule(path, params string, flags int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	compressed := false
	switch filepath.Ext(path) {
	case ".zst", ".xz", ".gz":
		compressed = true
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), params, flags)
	if compressed && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)) {
		return fmt.Errorf("%s is compressed and this kernel cannot decompress modules "+
			"(CONFIG_MODULE_DECOMPRESS); run `modprobe nbd`: %w", path, err)
	}
	return err
}
