// Lookups the ingest pipeline and change sets need: one KnowledgeVersion node
// (its MERGE doubles as the writers' lock), FAQ links restored by id when a
// product or policy is recreated, pruning FAQ by origin, listing change sets.
CREATE CONSTRAINT knowledge_version_id IF NOT EXISTS FOR (k:KnowledgeVersion) REQUIRE k.id IS UNIQUE;
CREATE INDEX faq_about_product IF NOT EXISTS FOR (f:FAQ) ON (f.about_product);
CREATE INDEX faq_about_policy IF NOT EXISTS FOR (f:FAQ) ON (f.about_policy);
CREATE INDEX faq_origin IF NOT EXISTS FOR (f:FAQ) ON (f.origin);
CREATE INDEX changeset_created IF NOT EXISTS FOR (c:ChangeSet) ON (c.created_at);
