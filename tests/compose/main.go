// Loads compose.yaml the way `docker compose config` does and prints the resolved project as JSON.
//
// No Docker engine runs on the project's build and CI machines, so compose.int.spec.ts checks the
// compose file through the same loader Docker Compose itself is built on (compose-go): schema
// validation, interpolation, profiles, merge keys, depends_on consistency and path resolution all
// behave as they do for `docker compose up`.
//
// Usage: go run . [-file compose.yaml]... [-profile name]...
// Prints the project on stdout, or one line on stderr and exit status 1.
//
// Also: go run . -yaml FILE prints FILE, any YAML document (the otel/ configuration files compose
// mounts), as JSON, so the tests can check those files against the compose project with the YAML
// library compose-go itself uses.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"go.yaml.in/yaml/v3"
)

// repeated collects a flag given several times, as `docker compose -f a -f b --profile x` allows.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(value string) error {
	*r = append(*r, value)
	return nil
}

func main() {
	var files, profiles repeated
	flag.Var(&files, "file", "compose file (repeatable; default: compose.yaml found from the current directory up)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable; default: COMPOSE_PROFILES)")
	yamlFile := flag.String("yaml", "", "print this YAML file as JSON instead of loading a compose project")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected argument %q", flag.Arg(0)))
	}
	if *yamlFile != "" {
		printYAML(*yamlFile)
		return
	}

	// The options and their order are those of docker compose's own ToProjectOptions and its
	// `config` command, so a file this accepts is one `docker compose up` accepts.
	options, err := cli.NewProjectOptions(files,
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(profiles...),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithDiscardEnvFile,
	)
	if err != nil {
		fail(err)
	}
	// cli.ProjectFromOptions is deprecated in favour of this method, which it merely calls.
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		fail(err)
	}
}

// printYAML prints one YAML document as JSON (mappings with string keys only, as in every
// configuration file this is used for).
func printYAML(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		fail(err)
	}
	var document any
	if err := yaml.Unmarshal(data, &document); err != nil {
		fail(fmt.Errorf("%s: %w", file, err))
	}
	out, err := json.Marshal(document)
	if err != nil {
		fail(fmt.Errorf("%s: %w", file, err))
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		fail(err)
	}
}

// fail prints one line, so a test or a shell sees the whole reason in its first line.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	os.Exit(1)
}
