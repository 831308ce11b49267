import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { TABLE } from "../../lib/contracts/table";

export interface StorageProps {
  /** Continuous backups for 35 days (about $0.20 per GB-month). */
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
  /** Keep the table and the bucket when the stack is deleted (deployed apps), or delete them (sandbox). */
  retainData: boolean;
}

/** Item-level actions the app's stores use; never table management or scans. */
const TABLE_DATA_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
  "dynamodb:Query",
];

/**
 * The app's data: ONE DynamoDB table shaped by lib/contracts/table.ts (the same
 * description the local cloud uses) and a private bucket for OpenClaw state snapshots.
 */
export class Storage extends Construct {
  readonly table: Table;
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // The AWS-owned key: encrypted at rest at no cost (a customer key is $1/month idle).
      encryption: TableEncryption.DEFAULT,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery },
      deletionProtection: props.deletionProtection,
      removalPolicy,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }

    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Snapshots overwrite each other; versions make a bad sync recoverable for two weeks.
      versioned: true,
      lifecycleRules: [
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(14) },
        { id: "remove-expired-delete-markers", expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
      autoDeleteObjects: !props.retainData,
    });
  }

  /** The table and its indexes, for item reads and writes. */
  tableResources(): string[] {
    return [this.table.tableArn, ...TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`)];
  }

  /** Item-level read and write on the table and its indexes (no scans, no table management). */
  tableDataStatement(): PolicyStatement {
    return new PolicyStatement({ actions: TABLE_DATA_ACTIONS, resources: this.tableResources() });
  }

  /** Objects under `prefix` only (get, put, delete, list); "" is the whole bucket. */
  objectStatements(prefix: string): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
      new PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [this.bucket.bucketArn],
        ...(prefix ? { conditions: { StringLike: { "s3:prefix": [`${prefix}*`] } } } : {}),
      }),
    ];
  }
}
