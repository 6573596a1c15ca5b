/**
 * The seed's TaskList: a plain Convex page. `tasks` is a synced table, yet nothing here knows
 * about sync: the mutations are `syncMutation`s, so every write also becomes a CRDT delta for
 * the edges, and edge writes show up through the ordinary reactive `useQuery`.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../convex/_generated/api";

export function TaskList() {
  const tasks = useQuery(api.tasks.list);
  const createTask = useMutation(api.tasks.create);
  const toggleTask = useMutation(api.tasks.toggle);
  const removeTask = useMutation(api.tasks.remove);
  const [title, setTitle] = useState("");

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const trimmed = title.trim();
    if (trimmed === "") return;
    setTitle("");
    await createTask({ title: trimmed });
  }

  return (
    <div>
      <form onSubmit={(event) => void onSubmit(event)} style={{ display: "flex", gap: 8 }}>
        <input
          aria-label="New task"
          placeholder="New task"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          style={{ flex: 1 }}
        />
        <button type="submit">Add</button>
      </form>
      {tasks === undefined ? (
        <p>Loading…</p>
      ) : tasks.length === 0 ? (
        <p>No tasks yet.</p>
      ) : (
        <ul style={{ listStyle: "none", padding: 0 }}>
          {tasks.map((task) => (
            <li key={task._id} style={{ display: "flex", gap: 8, padding: "4px 0" }}>
              <span
                role="checkbox"
                aria-checked={task.completed}
                tabIndex={0}
                onClick={() => void toggleTask({ id: task._id })}
                onKeyDown={(event) => {
                  if (event.key === " " || event.key === "Enter") void toggleTask({ id: task._id });
                }}
                style={{ cursor: "pointer", flex: 1 }}
              >
                {task.completed ? "✓" : "○"} {task.title}
              </span>
              <button aria-label={`Delete ${task.title}`} onClick={() => void removeTask({ id: task._id })}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
