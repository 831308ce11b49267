/**
 * The part of AppSync's built-in `@aws-appsync/utils` module the channel handlers use. The
 * module exists only inside the APPSYNC_JS runtime, so the bundle keeps it external.
 */
declare module "@aws-appsync/utils" {
  export const util: {
    /** Rejects the current subscribe or publish request with an authorization error. */
    unauthorized(): never;
  };
}
