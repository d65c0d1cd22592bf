// Package migrations holds the store's schema as embedded goose v3 SQL
// migrations, one directory per dialect (sqlite, postgres) with the same
// numbered files, and applies them.
package migrations
