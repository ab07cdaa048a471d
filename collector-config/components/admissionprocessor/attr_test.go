// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import "go.opentelemetry.io/otel/attribute"

func attrKey(k string) attribute.Key { return attribute.Key(k) }
