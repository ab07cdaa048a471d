"""deploy/kubernetes as applied: kustomize builds it, kubeconform checks it (marker kubernetes)."""
