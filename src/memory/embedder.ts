/** The plug-in interface every embedding backend implements. */
export interface Embedder {
  /** 'offline', 'ollama' or 'openai'. */
  readonly name: string;
  readonly model: string;
  readonly dimension: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
