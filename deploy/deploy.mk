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

# The Knative Functions CLI (func, v1.22+). docs/deploy.md explains each path.
#
#   make func-build FUNC_REGISTRY=reg/me [FUNC_PUSH=true]
#                                    func build --builder host: one image of every function
#   make func-run FUNCTION=NAME      func run: one function on this machine (FUNC_RUN_ENVS adds -e flags)
#   make func-deploy FUNCTION=NAME FUNC_IMAGE=reg/me/knshop@sha256:...
#                                    func deploy of one function, then kubectl apply of its Triggers
#
# func's Go scaffold pins older versions of some modules (golang.org/x/sys)
# than knshop needs, and its go.mod merge keeps the scaffold's line, so
# `go build` there stops with "updates to go.mod needed": -mod=mod lets it
# update the scaffold's go.mod. The host builder passes its environment on
# to go build.
FUNC ?= func
FUNC_REGISTRY ?= $(IMAGE_REPO)
FUNC_PUSH ?= false
FUNC_IMAGE ?=
FUNC_RUN_ENVS ?=
FUNC_GOFLAGS := -mod=mod -trimpath

.PHONY: func-build func-run func-deploy

func-build:
	GOFLAGS='$(FUNC_GOFLAGS)' $(FUNC) build --builder host --registry $(FUNC_REGISTRY) --push=$(FUNC_PUSH)

func-run:
	@test -n "$(FUNCTION)" || { echo "make func-run FUNCTION=NAME"; exit 2; }
	GOFLAGS='$(FUNC_GOFLAGS)' $(FUNC) run --builder host --env FUNCTION=$(FUNCTION) $(FUNC_RUN_ENVS)

func-deploy:
	@test -n "$(FUNCTION)" || { echo "make func-deploy FUNCTION=NAME FUNC_IMAGE=IMAGE"; exit 2; }
	@test -n "$(FUNC_IMAGE)" || { echo "FUNC_IMAGE: the image make func-build FUNC_PUSH=true pushed (by digest)"; exit 2; }
	go run ./deploy/funcproject -function $(FUNCTION) -image $(FUNC_IMAGE) -out .build/func/$(FUNCTION)
	$(FUNC) deploy --path .build/func/$(FUNCTION) --image $(FUNC_IMAGE) --build=false --push=false
	$(KUBECTL) apply -f .build/func/$(FUNCTION)/triggers.yaml
