import { Names } from "aws-cdk-lib";
import {
  AppSyncAuthorizationType,
  AppSyncEventResource,
  ChannelNamespace,
  Code,
  EventApi,
} from "aws-cdk-lib/aws-appsync";
import type { IUserPool } from "aws-cdk-lib/aws-cognito";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { AGENT_NAMESPACE, CHAT_NAMESPACE } from "../../lib/contracts/channels";
import { buildChatHandlerCode } from "./handler-code";

export interface RealtimeProps {
  /** Browsers connect and subscribe with this pool's access tokens. */
  userPool: IUserPool;
}

/**
 * The AppSync Events API, with the channels of lib/contracts/channels.ts:
 * - `chat`: browsers subscribe with Cognito, to their own paths only (onSubscribe handler);
 *   only IAM principals (server, runtime) publish;
 * - `agent`: IAM only, both ways (server → runtime wake-ups).
 */
export class Realtime extends Construct {
  readonly api: EventApi;
  readonly chat: ChannelNamespace;
  readonly agent: ChannelNamespace;

  constructor(scope: Construct, id: string, props: RealtimeProps) {
    super(scope, id);
    this.api = new EventApi(this, "Api", {
      apiName: Names.uniqueResourceName(this, { maxLength: 50, separator: "-" }),
      authorizationConfig: {
        authProviders: [
          { authorizationType: AppSyncAuthorizationType.IAM },
          {
            authorizationType: AppSyncAuthorizationType.USER_POOL,
            cognitoConfig: { userPool: props.userPool },
          },
        ],
        connectionAuthModeTypes: [AppSyncAuthorizationType.IAM, AppSyncAuthorizationType.USER_POOL],
        // Namespaces narrow these; the API-wide defaults admit IAM only.
        defaultPublishAuthModeTypes: [AppSyncAuthorizationType.IAM],
        defaultSubscribeAuthModeTypes: [AppSyncAuthorizationType.IAM],
      },
    });

    this.chat = new ChannelNamespace(this, "Chat", {
      api: this.api,
      channelNamespaceName: CHAT_NAMESPACE,
      authorizationConfig: {
        publishAuthModeTypes: [AppSyncAuthorizationType.IAM],
        subscribeAuthModeTypes: [AppSyncAuthorizationType.USER_POOL],
      },
      code: Code.fromInline(buildChatHandlerCode()),
    });

    this.agent = new ChannelNamespace(this, "Agent", {
      api: this.api,
      channelNamespaceName: AGENT_NAMESPACE,
      authorizationConfig: {
        publishAuthModeTypes: [AppSyncAuthorizationType.IAM],
        subscribeAuthModeTypes: [AppSyncAuthorizationType.IAM],
      },
    });
  }

  /** `https://<host>/event`: HTTP publish endpoint, and what aws-amplify's `Events.endpoint` expects. */
  get httpEndpoint(): string {
    return `https://${this.api.httpDns}/event`;
  }

  /** `wss://<host>/event/realtime`: the WebSocket endpoint (the runtime's subscriber). */
  get realtimeEndpoint(): string {
    return `wss://${this.api.realtimeDns}/event/realtime`;
  }

  /** The server publishes chat events and wakes runtimes over HTTP; it never subscribes. */
  serverStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: ["appsync:EventPublish"],
        resources: [...this.namespaceArns(CHAT_NAMESPACE), ...this.namespaceArns(AGENT_NAMESPACE)],
      }),
    ];
  }

  /** A runtime connects, listens on `agent` and streams to `chat`. */
  runtimeStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: ["appsync:EventConnect"],
        resources: AppSyncEventResource.forAPI().resourceArns(this.api),
      }),
      new PolicyStatement({
        actions: ["appsync:EventSubscribe"],
        resources: this.namespaceArns(AGENT_NAMESPACE),
      }),
      new PolicyStatement({
        actions: ["appsync:EventPublish"],
        resources: this.namespaceArns(CHAT_NAMESPACE),
      }),
    ];
  }

  private namespaceArns(name: string): string[] {
    return AppSyncEventResource.ofChannelNamespace(name).resourceArns(this.api);
  }
}
