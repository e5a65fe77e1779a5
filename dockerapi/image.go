package dockerapi

import (
	"context"
	"fmt"
	"maps"
	"sync"
)

// maxImages bounds the image label cache; it starts over when full.
const maxImages = 512

// imageCache holds the labels of images by ID. An image ID is the digest of the image's configuration,
// labels included, so an entry never goes stale.
type imageCache struct {
	mu     sync.Mutex
	labels map[string]map[string]string // guarded by mu
}

func (ic *imageCache) get(id string) (map[string]string, bool) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	l, ok := ic.labels[id]
	return l, ok
}

func (ic *imageCache) put(id string, l map[string]string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.labels == nil || len(ic.labels) >= maxImages {
		ic.labels = map[string]map[string]string{}
	}
	ic.labels[id] = l
}

// imageLabels returns the labels of the image with ID id, which dockerd copied into the labels of
// every container made from it. Inspecting an image takes no container lock, so it is safe on the
// Join path. The caller bounds ctx.
func (c *Client) imageLabels(ctx context.Context, id string) (map[string]string, error) {
	if id == "" {
		return nil, nil // a container whose image is gone: Docker reports no ID
	}
	if l, ok := c.images.get(id); ok {
		return l, nil
	}
	img, err := c.c.ImageInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("docker api %s: inspect image %s (to tell its labels from the container's): %w", c.host, id, err)
	}
	var l map[string]string
	if img.Config != nil {
		l = maps.Clone(img.Config.Labels)
	}
	c.images.put(id, l)
	return l, nil
}
