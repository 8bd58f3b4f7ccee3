// The whole data model; drizzle-kit reads this file to write migrations.
export * from './core.ts';
export * from './chats.ts';
