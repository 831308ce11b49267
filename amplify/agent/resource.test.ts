import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stateBlobPrefix } from "../../runtime/src/runner/state-sync";
import { Agent, imageExcludes } from "./resource";

/*
 * The agent construct alone, in a plain CDK app (fast, no Amplify): the Docker-asset image
 * mode, the build-context filter, and the contract with the runtime's state keys.
 */

let context: string;
let docker: Template;
let codebuild: Template;

// Loading aws-cdk-lib's ECS/EC2 modules is slow on a busy machine: synthesize in the hook.
beforeAll(() => {
  context = mkdtempSync(join(tmpdir(), "openclaw-agent-ctx-"));
  mkdirSync(join(context, "runtime"), { recursive: true });
  writeFileSync(join(context, "runtime/Dockerfile"), "FROM scratch\n");
  docker = synth("docker", 2048, 4096);
  codebuild = synth("codebuild");
}, 240_000);

afterAll(() => {
  if (context) rmSync(context, { recursive: true, force: true });
});

function synth(imageBuild: "docker" | "codebuild", cpu = 1024, memoryMiB = 2048): Template {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), "openclaw-agent-out-")) });
  const stack = new Stack(app, "Agent");
  new Agent(stack, "Agent", {
    cpu,
    memoryMiB,
    imageBuild,
    imageContext: context,
    dockerfile: "runtime/Dockerfile",
    logRetentionDays: RetentionDays.ONE_WEEK,
    environment: { APP_MODE: "aws" },
  });
  return Template.fromStack(stack);
}

describe("Agent", () => {
  it("uses a Docker asset (no CodeBuild, no own repository) in docker mode", () => {
    const t = docker;
    t.resourceCountIs("AWS::CodeBuild::Project", 0);
    t.resourceCountIs("AWS::ECR::Repository", 0);
    t.hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: "2048",
      Memory: "4096",
      ContainerDefinitions: [
        Match.objectLike({
          Image: Match.objectLike({ "Fn::Sub": Match.stringLikeRegexp("cdk-hnb659fds-container-assets") }),
          StopTimeout: 120,
          LinuxParameters: { InitProcessEnabled: true },
        }),
      ],
    });
    t.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
  });

  it("builds in CodeBuild on an ARM image in codebuild mode", () => {
    codebuild.hasResourceProperties("AWS::CodeBuild::Project", {
      Environment: Match.objectLike({ Type: "ARM_CONTAINER", PrivilegedMode: true }),
    });
  });

  it("refuses docker mode without a Dockerfile", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "openclaw-agent-out-")) });
    expect(
      () =>
        new Agent(new Stack(app, "S"), "Agent", {
          cpu: 1024,
          memoryMiB: 2048,
          imageBuild: "docker",
          imageContext: context,
          dockerfile: "runtime/Missing.Dockerfile",
          logRetentionDays: RetentionDays.ONE_WEEK,
          environment: {},
        }),
    ).toThrow(/Dockerfile not found/);
  });

  it("grants the task role exactly the prefix the runtime writes its state under", () => {
    expect(stateBlobPrefix("3f1c2a9e-0000-4000-8000-000000000001").startsWith(Agent.STATE_PREFIX)).toBe(true);
  });
});

describe("imageExcludes", () => {
  it("uploads only lib/ and runtime/ when the runtime ships no ignore file, never secrets or node_modules", () => {
    const ex = imageExcludes(context, "runtime/Dockerfile");
    expect(ex.slice(0, 2)).toEqual(["*", "!lib"]);
    expect(ex).toEqual(
      expect.arrayContaining(["**/node_modules", ".env", ".env.*", ".local", "amplify_outputs.json"]),
    );
  });

  it("prefers <Dockerfile>.dockerignore, then .dockerignore, and still adds the hard excludes", () => {
    writeFileSync(join(context, ".dockerignore"), "# root\ndocs\n");
    expect(imageExcludes(context, "runtime/Dockerfile")[0]).toBe("docs");
    writeFileSync(join(context, "runtime/Dockerfile.dockerignore"), "*\n!runtime\n");
    const ex = imageExcludes(context, "runtime/Dockerfile");
    expect(ex.slice(0, 2)).toEqual(["*", "!runtime"]);
    expect(ex.at(-1)).toBe("**/*.test.ts");
    rmSync(join(context, ".dockerignore"));
    rmSync(join(context, "runtime/Dockerfile.dockerignore"));
  });
});
