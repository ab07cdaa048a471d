// Command composecheck loads a compose project with compose-go, the loader docker compose
// itself uses, the way `docker compose config` does: .env and the environment are
// interpolated, the file is validated against the compose specification's schema, then
// normalized and checked for consistency, with the selected profiles enabled. It prints
// the resolved project as JSON, or the loader's error and exit status 1.
//
//	composecheck [-f docker-compose.yml] [--env-file .env]... [--profile demo]... [--format json|yaml]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type options struct {
	file     string
	envFiles repeated
	profiles repeated
	format   string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("composecheck", flag.ContinueOnError)
	fs.StringVar(&o.file, "f", "docker-compose.yml", "compose file; its folder is the project directory")
	fs.Var(&o.envFiles, "env-file", "env file (repeatable; default: .env beside the compose file)")
	fs.Var(&o.profiles, "profile", "profile to enable (repeatable; default: $COMPOSE_PROFILES)")
	fs.StringVar(&o.format, "format", "json", "output format: json or yaml")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.format != "json" && o.format != "yaml" {
		return o, fmt.Errorf("--format %q: expected json or yaml", o.format)
	}
	return o, nil
}

// load mirrors docker compose's ToProject for `config`: the same option functions, in
// the same order, so interpolation, .env, profiles and validation behave identically.
func load(ctx context.Context, o options) (*types.Project, error) {
	file, err := filepath.Abs(o.file)
	if err != nil {
		return nil, err
	}
	projectOptions, err := cli.NewProjectOptions([]string{file},
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithDiscardEnvFile,
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithEnvFiles(o.envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.profiles...),
	)
	if err != nil {
		return nil, err
	}
	return projectOptions.LoadProject(ctx)
}

func render(project *types.Project, format string) ([]byte, error) {
	if format == "yaml" {
		return project.MarshalYAML()
	}
	return project.MarshalJSON()
}

func run(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		return 2
	}
	project, err := load(context.Background(), o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "composecheck: %s: %v\n", o.file, err)
		return 1
	}
	out, err := render(project, o.format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		return 1
	}
	os.Stdout.Write(append(out, '\n'))
	return 0
}

func main() {
	os.Exit(run(os.Args[1:]))
}
