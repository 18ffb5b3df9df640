"""Task dispatch to Kubernetes: pod specs, the pod launcher, the reconciler."""
