# Image and cluster targets, included by the repository Makefile.
#
#   make image                      static cmd/fn -> OCI layout .build/image and .build/image.tar
#   make deploy IMAGE_REPO=reg/me   push, then apply deploy/knative with the pushed digest
#   make manifests                  render deploy/knative to .build/knshop.yaml (no cluster needed)

IMAGE_REPO ?= $(or $(KO_DOCKER_REPO),registry.example.com/knshop)
IMAGE_TAG ?= latest
IMAGE_ARCH ?= amd64
# The image name deploy/knative/kustomization.yaml sets; replaced at deploy.
IMAGE_PLACEHOLDER := registry.example.com/knshop/fn:latest
KUBECTL ?= kubectl

.PHONY: image image-binary deploy manifests

image-binary:
	mkdir -p .build
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags='-s -w' -o .build/fn ./cmd/fn

image: image-binary
	go run ./deploy/image -binary .build/fn -arch $(IMAGE_ARCH) -layout .build/image -tarball .build/image.tar -tag knshop/fn:$(IMAGE_TAG)

manifests:
	mkdir -p .build
	$(KUBECTL) kustomize deploy/knative > .build/knshop.yaml

deploy: image-binary
	go run ./deploy/image -binary .build/fn -arch $(IMAGE_ARCH) -layout .build/image -push $(IMAGE_REPO)/fn:$(IMAGE_TAG) > .build/image.ref
	@echo "pushed $$(cat .build/image.ref)"
	$(KUBECTL) kustomize deploy/knative | sed 's|image: $(IMAGE_PLACEHOLDER)|image: '"$$(cat .build/image.ref)"'|' | $(KUBECTL) apply -f -
