package main

import (
	"flag"
	"fmt"

	"github.com/ferry-project/ferry/config"
)

func init() {
	register("init", "write a commented ferry.toml and its data_dir", runInit)
}

func runInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("dir", ".", "folder for ferry.toml (its data_dir goes beside it)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	path, err := config.Init(*dir)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s\n\nnext:\n  ferry user add NAME --config %[1]s\n  ferry firewall --config %[1]s\n  ferry serve --config %[1]s\n", path)
	return nil
}
