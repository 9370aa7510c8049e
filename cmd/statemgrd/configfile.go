package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/statemgr/statemgr/adapters/platform"
)

// configProblem is one mistake in the configuration: the attribute it is
// about (its path in the file, e.g. "policy.chassis_off" or
// "nats.user.alice.role"; "" when no single attribute is to blame) and
// what to fix.
type configProblem struct {
	attr string
	msg  string
}

// sources says where each attribute of the configuration was set, so that
// a problem names its file:line:col or flag.
type sources struct {
	ranges map[string]hcl.Range // attribute path -> its value in the file
	flags  map[string]string    // attribute path -> the flag that set it
}

// flagAttrs maps the flags that override the file to their attributes.
var flagAttrs = map[string]string{
	"data-dir": "data_dir", "storage-profile": "storage_profile", "platform": "platform_file",
	"nats-url": "nats.url", "nats-listen": "nats.listen", "http-listen": "http_listen",
	"log-format": "log_format", "log-level": "log_level", "unconfigured": "unconfigured",
}

// locate prefixes a problem with where its attribute was set.
func (s sources) locate(p configProblem) string {
	if flag, ok := s.flags[p.attr]; ok {
		return "flag -" + flag + ": " + p.msg
	}
	if r, ok := s.ranges[p.attr]; ok {
		return fmt.Sprintf("%s:%d:%d: %s", r.Filename, r.Start.Line, r.Start.Column, p.msg)
	}
	return p.msg
}

// decodeConfigFile decodes the HCL file at path over cfg (attributes it
// lacks keep their values) and returns where each attribute is. Every
// diagnostic is reported, each with its file:line:col.
func decodeConfigFile(path string, cfg *Config) (map[string]hcl.Range, error) {
	src, err := platform.ReadSource(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: configuration file %s does not exist: give an existing file to -config, or leave -config out to run on the defaults", errConfig, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read configuration file: %w", errConfig, err)
	}
	// The platform file's limits hold here too: hclsyntax parses
	// recursively, and a deep enough file would overflow its stack.
	if err := platform.CheckLimits(path, src); err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagnosticsError(diags)
	}
	if diags = gohcl.DecodeBody(file.Body, nil, cfg); diags.HasErrors() {
		return nil, diagnosticsError(diags)
	}
	ranges := map[string]hcl.Range{}
	collectRanges(file.Body.(*hclsyntax.Body), "", ranges)
	return ranges, nil
}

// collectRanges records the value range of every attribute under body,
// by path: blocks add their type and labels ("nats.user.alice.role").
func collectRanges(body *hclsyntax.Body, prefix string, into map[string]hcl.Range) {
	for name, a := range body.Attributes {
		into[prefix+name] = a.Expr.Range()
	}
	for _, b := range body.Blocks {
		path := prefix + strings.Join(append([]string{b.Type}, b.Labels...), ".") + "."
		collectRanges(b.Body, path, into)
	}
}

// diagnosticsError reports every diagnostic, one a line, with its
// location.
func diagnosticsError(diags hcl.Diagnostics) error {
	lines := make([]string, 0, len(diags))
	for _, d := range diags {
		line := d.Summary
		if d.Detail != "" {
			line += ": " + d.Detail
		}
		if d.Subject != nil {
			line = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, line)
		}
		lines = append(lines, line)
	}
	return fmt.Errorf("%w:\n  %s", errConfig, strings.Join(lines, "\n  "))
}

// checkListen checks a listener address before anything is started: a
// host (an IP address or a name, empty for every interface) and a port.
func checkListen(attr, addr string) []configProblem {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return []configProblem{{attr, fmt.Sprintf("%s %q: %v (want host:port, e.g. 127.0.0.1:9090)", attr, addr, err)}}
	}
	if port, err := strconv.Atoi(portText); err != nil || port < 0 || port > 65535 {
		return []configProblem{{attr, fmt.Sprintf("%s %q: port %q is not a number from 0 to 65535", attr, addr, portText)}}
	}
	if strings.ContainsAny(host, " /") {
		return []configProblem{{attr, fmt.Sprintf("%s %q: host %q is neither an IP address nor a host name", attr, addr, host)}}
	}
	return nil
}
