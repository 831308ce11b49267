export * from "./channels";
export * from "./events";
export * from "./ids";
export * from "./models";
export * from "./task-lease";
