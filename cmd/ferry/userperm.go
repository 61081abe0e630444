package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

func init() {
	userCommands["perm"] = userPerm
	userCommands["mount"] = userMount
}

// userPerm sets, removes or prints a user's folder rules:
//
//	ferry user perm NAME /outgoing list,download
//	ferry user perm NAME --del /outgoing
//	ferry user perm NAME
func userPerm(args []string) error {
	fs := flag.NewFlagSet("user perm", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	del := fs.String("del", "", "remove the rule of this folder")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	usage := fmt.Errorf("usage: ferry user perm NAME [FOLDER RIGHTS | --del FOLDER] [--config FILE]; RIGHTS is a comma list of list, download, upload, overwrite, delete, rename, mkdir (or all, none)")
	if len(rest) != 1 && len(rest) != 3 || len(rest) == 3 && *del != "" {
		return usage
	}
	name := rest[0]
	var rule store.Rule
	switch {
	case len(rest) == 3:
		rights, err := core.ParseRights(rest[2])
		if err != nil {
			return err
		}
		p, err := core.RulePath(rest[1])
		if err != nil {
			return err
		}
		rule = store.Rule{Path: p, Rights: rights.String()}
	case *del != "":
		p, err := core.RulePath(*del)
		if err != nil {
			return err
		}
		*del = p
	}
	cfg, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	switch {
	case rule.Path != "":
		if err := st.SetRule(ctx, name, rule); err != nil {
			return err
		}
		fmt.Printf("user %s: %s %s in %s; a running server ends the user's live sessions within seconds\n", name, rule.Path, rule.Rights, store.Location(cfg))
		return nil
	case *del != "":
		if err := st.DeleteRule(ctx, name, *del); err != nil {
			return err
		}
		fmt.Printf("user %s: rule on %s removed\n", name, *del)
		return nil
	}
	u, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	printRules(u)
	return nil
}

// printRules prints the rights of every folder with a rule, and the
// home's when no rule names it.
func printRules(u store.User) {
	home := "all (no rules)"
	if u.ReadOnly {
		home = core.ReadRights.String() + " (read-only account)"
	}
	if len(u.Rules) > 0 && u.Rules[0].Path == "/" {
		home = u.Rules[0].Rights
	}
	fmt.Printf("%-24s %s\n", "/", home)
	for _, r := range u.Rules {
		if r.Path != "/" {
			fmt.Printf("%-24s %s\n", r.Path, r.Rights)
		}
	}
}

// userMount adds, removes or prints a user's virtual folders:
//
//	ferry user mount NAME /shared /srv/published [--read-only]
//	ferry user mount NAME --del /shared
//	ferry user mount NAME
func userMount(args []string) error {
	fs := flag.NewFlagSet("user mount", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	del := fs.String("del", "", "remove the virtual folder at this path")
	ro := fs.Bool("read-only", false, "the user may only read the folder")
	anyDir := fs.Bool("allow-any-home", false, "allow / or a directory that contains data_dir")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 && len(rest) != 3 || len(rest) == 3 && *del != "" {
		return fmt.Errorf("usage: ferry user mount NAME [FOLDER DIRECTORY [--read-only] | --del FOLDER] [--config FILE]")
	}
	name := rest[0]
	cfg, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	switch {
	case len(rest) == 3:
		p, err := core.RulePath(rest[1])
		if err != nil {
			return err
		}
		if p == "/" {
			return fmt.Errorf("a virtual folder cannot be mounted at /: that is the home (ferry user set --home)")
		}
		dir, err := store.CheckMountDir(cfg, rest[2], *anyDir)
		if err != nil {
			return err
		}
		if err := st.AddMount(ctx, name, store.Mount{Path: p, Dir: dir, ReadOnly: *ro}); err != nil {
			return err
		}
		fmt.Printf("user %s: %s mounted at %s%s; a running server ends the user's live sessions within seconds\n", name, dir, p, map[bool]string{true: " (read-only)"}[*ro])
		return nil
	case *del != "":
		p, err := core.RulePath(*del)
		if err != nil {
			return err
		}
		if err := st.DeleteMount(ctx, name, p); err != nil {
			return err
		}
		fmt.Printf("user %s: virtual folder %s removed (the directory is kept)\n", name, p)
		return nil
	}
	u, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	for _, m := range u.Mounts {
		access := "read-write"
		if m.ReadOnly {
			access = "read-only"
		}
		fmt.Printf("%-24s %s (%s)\n", m.Path, m.Dir, access)
	}
	return nil
}
