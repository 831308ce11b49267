/**
 * The app keeps everything in one DynamoDB table (see docs/adr/0002-single-table.md).
 * The Amplify storage stack and the local cloud both create it from this description,
 * so their shapes cannot drift apart.
 */
export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Epoch seconds; DynamoDB deletes expired items eventually, so readers also filter them. */
  ttlAttribute: "ttl",
  indexes: [
    /** Rows listed by another key than their owner: conversations by updatedAt, active task rows, queued items. */
    { name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  ],
} as const;
