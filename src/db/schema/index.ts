// The whole data model; drizzle-kit reads this file to write migrations.
export * from './core.ts';
export * from './chats.ts';
export * from './realtime.ts';
export * from './rocketchat.ts';
export * from './identity.ts';
