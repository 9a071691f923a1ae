// The tool-settings aggregate: one stream per tool name, enabled unless a ToolDisabled is the latest word.
import { DomainError, assertNever, type Decider } from '../shared.ts';
import { ToolSettingEvent } from './events.ts';

export { ToolSettingEvent, ToolCalled, TOOL_OUTCOMES } from './events.ts';

export type ToolSettingState = { readonly enabled: boolean };

export type ToolSettingCommand =
  | { type: 'DisableTool'; name: string; known: boolean; reason?: string; now: Date }
  | { type: 'EnableTool'; name: string; known: boolean; now: Date };

export const toolStream = (name: string): string => `tool-${name}`;
export const toolAuditStream = (userId: string): string => `audit-tools-${userId}`;

export const decideToolSetting = (command: ToolSettingCommand, state: ToolSettingState): ToolSettingEvent[] => {
  // `known` comes from the registry (the caller looks it up): settings for tools that do not exist are typos.
  if (!command.known) throw new DomainError('unknown_tool', `no tool named ${command.name}`);
  const at = command.now.toISOString();
  switch (command.type) {
    case 'DisableTool':
      if (!state.enabled) return [];
      return [
        {
          type: 'ToolDisabled',
          data: { name: command.name, at, ...(command.reason ? { reason: command.reason } : {}) },
        },
      ];
    case 'EnableTool':
      if (state.enabled) return [];
      return [{ type: 'ToolEnabled', data: { name: command.name, at } }];
    default:
      return assertNever(command);
  }
};

export const evolveToolSetting = (state: ToolSettingState, event: ToolSettingEvent): ToolSettingState => {
  switch (event.type) {
    case 'ToolDisabled':
      return { enabled: false };
    case 'ToolEnabled':
      return { enabled: true };
    default:
      return assertNever(event);
  }
};

export const toolSettingDecider: Decider<ToolSettingCommand, ToolSettingEvent, ToolSettingState> = {
  initialState: () => ({ enabled: true }),
  decide: decideToolSetting,
  evolve: evolveToolSetting,
  parse: (event) => ToolSettingEvent.parse(event),
};
