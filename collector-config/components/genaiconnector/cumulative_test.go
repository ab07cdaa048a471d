// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func attrMap(kv ...any) pcommon.Map {
	m := pcommon.NewMap()
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			m.PutStr(kv[i].(string), v)
		case int:
			m.PutInt(kv[i].(string), int64(v))
		}
	}
	return m
}

// A stream's key is its resource, scope, metric and point attributes, each map in key
// order: the order a producer writes attributes in does not make another stream.
func TestStreamKeys(t *testing.T) {
	var k streamKeys
	k.resource(attrMap("service.name", "claude-code", "host.arch", "amd64"))
	first := string(k.key("scope", "claude_code.token.usage", attrMap("type", "input", "model", "m", "n", 3)))
	assert.Equal(t, "host.arch\x00amd64\x00service.name\x00claude-code\x00\x01scope\x01claude_code.token.usage\x01"+
		"model\x00m\x00n\x003\x00type\x00input\x00", first)

	k.resource(attrMap("host.arch", "amd64", "service.name", "claude-code"))
	assert.Equal(t, first, string(k.key("scope", "claude_code.token.usage", attrMap("n", 3, "model", "m", "type", "input"))))
	assert.NotEqual(t, first, string(k.key("scope", "claude_code.token.usage", attrMap("n", 3, "model", "m", "type", "output"))))
	assert.NotEqual(t, first, string(k.key("scope", "claude_code.cost.usage", attrMap("n", 3, "model", "m", "type", "input"))))

	// Another resource: its part is written again.
	k.resource(attrMap("service.name", "claude-code", "host.arch", "arm64"))
	assert.NotEqual(t, first, string(k.key("scope", "claude_code.token.usage", attrMap("type", "input", "model", "m", "n", 3))))
}
