// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/hypertool-observability/hypertool/collector/ledgerprocessor/internal/metadata"
)

// TestComponentLifecycleInATempDirectory is mdatagen's lifecycle test (skipped in
// generated_component_test.go: metadata.yaml's tests.config has no temporary directory to
// journal into), run with the directory in one: create, start, consume, shut down.
func TestComponentLifecycleInATempDirectory(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))
	dir := filepath.Join(t.TempDir(), cfg.(*Config).Directory)
	cfg.(*Config).Directory = dir
	require.NoError(t, cfg.(*Config).Validate())

	c, err := factory.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	var p processor.Metrics = c
	metrics := generateLifecycleTestMetrics()
	require.NotPanics(t, func() { err = p.ConsumeMetrics(context.Background(), metrics) })
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(context.Background()))
	// Shut down, the totals are in a snapshot.
	_, err = os.Stat(filepath.Join(dir, snapshotName))
	require.NoError(t, err)
}
